"""Forms of the owner dashboard: they parse input; the services decide what is allowed."""

from __future__ import annotations

import json

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


def _parsed_json(raw: str, what: str):
    try:
        return json.loads(raw) if raw.strip() else None
    except json.JSONDecodeError:
        raise forms.ValidationError(f"The {what} could not be read; draw it again.") from None


class CutoutForm(forms.Form):
    """A correction of a product's cut-out: a mask file, or what the owner drew on the photo (a
    rectangle or keep/remove strokes, sent as JSON by the page's script), and the customisable flag."""

    mask = forms.FileField(required=False, label="Upload a mask",
                           help_text="A PNG the photo's size: white or opaque where the product is.")
    rectangle = forms.CharField(required=False, widget=forms.HiddenInput)
    keep = forms.CharField(required=False, widget=forms.HiddenInput)
    remove = forms.CharField(required=False, widget=forms.HiddenInput)
    customisable = forms.BooleanField(required=False, label="Customisable (print-on-demand)", help_text=(
        "The persona's motif may go on the product's printable surface; off: shown exactly as photographed."))

    def clean_rectangle(self):
        rectangle = _parsed_json(self.cleaned_data["rectangle"], "rectangle")
        if rectangle is not None and (not isinstance(rectangle, list) or len(rectangle) != 4
                                      or not all(isinstance(value, int | float) for value in rectangle)):
            raise forms.ValidationError("The rectangle must be four numbers: x0, y0, x1, y1.")
        return rectangle

    def _strokes(self, name: str):
        strokes = _parsed_json(self.cleaned_data[name], f"{name} strokes") or []
        valid = isinstance(strokes, list) and all(
            isinstance(stroke, list) and all(isinstance(point, list) and len(point) == 2 for point in stroke)
            for stroke in strokes)
        if not valid:
            raise forms.ValidationError("Strokes must be lists of [x, y] points.")
        return strokes

    def clean_keep(self):
        return self._strokes("keep")

    def clean_remove(self):
        return self._strokes("remove")

    def has_correction(self) -> bool:
        data = self.cleaned_data
        return bool(data.get("mask") or data.get("rectangle") or data.get("keep") or data.get("remove"))


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
