"""Forms of the owner dashboard: they parse input; the services decide what is allowed."""

from __future__ import annotations

from django import forms

from generation.models import GenerationSettings, ListingStatus, WebhookTopic
from profiles.models import Persona, Product, Shop


class JobLaunchForm(forms.Form):
    product = forms.CharField(label="Product id", max_length=100,
                              help_text="Type or pick the product's id; it needs a photo.",
                              widget=forms.TextInput(attrs={"list": "product-ids", "autocomplete": "off"}))
    personas = forms.ModelMultipleChoiceField(queryset=Persona.objects.none(), widget=forms.CheckboxSelectMultiple,
                                              label="Draw it for these personas",
                                              error_messages={"required": "Pick at least one persona."})

    def __init__(self, *args, shop: Shop, personas, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop = shop
        self.fields["personas"].queryset = personas

    def clean_product(self) -> Product:
        external_id = self.cleaned_data["product"].strip()
        product = Product.objects.filter(shop=self.shop, external_id=external_id).first()
        if product is None:
            raise forms.ValidationError(f"This shop has no product with id “{external_id}”; pick one from the list.")
        return product


class GenerationSettingsForm(forms.Form):
    holdout_share = forms.DecimalField(
        label="Holdout share", max_digits=4, decimal_places=3, widget=forms.NumberInput(attrs={"step": "0.01"}),
        help_text="Share of shoppers who always see the original images (0 to 0.9): the control group of the "
                  "benefit report.")
    auto_approve_threshold = forms.FloatField(
        label="Auto-approve threshold", required=False, widget=forms.NumberInput(attrs={"step": "0.01"}),
        help_text="Publish new images at least this faithful to the product (0 to 1) without review; leave empty "
                  "to approve each one yourself.")
    daily_job_budget = forms.IntegerField(label="Daily job budget",
                                          help_text="Most generation jobs started in 24 hours.")
    fidelity_threshold = forms.FloatField(
        label="Fidelity threshold", widget=forms.NumberInput(attrs={"step": "0.01"}),
        help_text="Images less faithful to the product than this (0 to 1) are redrawn with a new seed.")

    @classmethod
    def initial_from(cls, current: GenerationSettings) -> dict:
        return {name: getattr(current, name) for name in cls.base_fields}


class ApiKeyForm(forms.Form):
    label = forms.CharField(label="Label", max_length=100, required=False,
                            help_text="Where the key will be used, e.g. “web store”.")


class ListingFilterForm(forms.Form):
    status = forms.ChoiceField(label="Status", required=False,
                               choices=[("", "Any status"), *ListingStatus.choices])


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(label="Endpoint URL", max_length=500, assume_scheme="https",
                         help_text="Where shop-ai sends signed POSTs, e.g. https://store.example.com/hooks/shop-ai")
    topics = forms.MultipleChoiceField(label="Topics", choices=WebhookTopic.choices, required=False,
                                       widget=forms.CheckboxSelectMultiple, help_text="None ticked: all topics.")


class ShopifySecretForm(forms.Form):
    shopify_secret = forms.CharField(label="Shopify signing secret", required=False, max_length=200,
                                     widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                                     help_text="Shopify admin → Settings → Notifications → Webhooks shows it "
                                               "(“Your webhooks will be signed with …”). Empty: forget it.")


class AllowedOriginsForm(forms.Form):
    origins = forms.CharField(label="Storefront origins", required=False, widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="One per line, e.g. https://store.example.com. Empty: the snippet may run "
                                        "on any site.")
