from django import forms

from loyalty.models import LoyaltyProgram, LoyaltyTier


class ProgramForm(forms.ModelForm):
    class Meta:
        model = LoyaltyProgram
        fields = (
            "name",
            "description",
            "points_per_dollar",
            "min_spend_amount",
            "rounding",
            "min_redemption_points",
            "point_value",
            "max_redemption_percent",
            "points_expiry_days",
            "max_points_per_transaction",
            "earn_on_total",
            "shortfall_policy",
            "max_negative_points",
        )
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "points_per_dollar": "Points for each unit of your currency spent, e.g. 1, or 0.01 for 1 point per 100.",
            "min_spend_amount": "Purchases below this earn no points.",
            "min_redemption_points": "A customer needs at least this many points to redeem.",
            "max_redemption_percent": "The most of one bill that points may pay.",
            "points_expiry_days": "Points expire this many days after they come in; empty for never. "
            "A change applies to points earned from then on.",
        }

    def clean(self):
        data = super().clean()
        for name, low, high in (
            ("points_per_dollar", 0, 1000),
            ("min_spend_amount", 0, None),
            ("min_redemption_points", 0, None),
            ("point_value", None, None),
            ("max_redemption_percent", 0, 100),
        ):
            value = data.get(name)
            if value is None:
                continue
            if low is not None and value < low:
                self.add_error(name, f"Must be at least {low}.")
            if high is not None and value > high:
                self.add_error(name, f"Must be at most {high}.")
        if data.get("point_value") is not None and data["point_value"] <= 0:
            self.add_error("point_value", "A point must be worth more than zero.")
        cap = data.get("max_points_per_transaction")
        if cap is not None and cap < 1:
            self.add_error("max_points_per_transaction", "Leave empty for no cap, or at least 1 point.")
        lowest = data.get("max_negative_points")
        if lowest is not None and not 0 <= lowest <= 1_000_000:
            self.add_error("max_negative_points", "From 0 to 1,000,000 points.")
        elif data.get("shortfall_policy") == LoyaltyProgram.Shortfall.ALLOW_NEGATIVE and not lowest:
            self.add_error("max_negative_points", "Give the lowest balance allowed, in points below zero (1 or more).")
        elif data.get("shortfall_policy") == LoyaltyProgram.Shortfall.TAKE_AVAILABLE:
            data["max_negative_points"] = 0  # no negative balance under this policy
        days = data.get("points_expiry_days")
        if days is not None and not 1 <= days <= 3650:
            self.add_error("points_expiry_days", "Leave empty for points that never expire, or 1 to 3650 days.")
        return data


class AdjustmentForm(forms.Form):
    points_change = forms.IntegerField(
        label="Points", min_value=-1_000_000, max_value=1_000_000, help_text="Positive to add, negative to take away."
    )
    reason = forms.CharField(label="Reason", max_length=200)

    def clean_points_change(self):
        points = self.cleaned_data["points_change"]
        if points == 0:
            raise forms.ValidationError("An adjustment moves at least one point.")
        return points


class TierForm(forms.ModelForm):
    class Meta:
        model = LoyaltyTier
        fields = ("name", "min_points", "multiplier")
        help_texts = {"multiplier": "1 to 10, e.g. 1.25 for a quarter more points."}

    def clean(self):
        data = super().clean()
        points = data.get("min_points")
        if points is not None and not 0 <= points <= 100_000_000:
            self.add_error("min_points", "From 0 to 100,000,000 points.")
        multiplier = data.get("multiplier")
        if multiplier is not None and not 1 <= multiplier <= 10:
            self.add_error("multiplier", "From 1 to 10.")
        return data

    def validate_unique(self):
        pass  # the program is not on the form: the service names a clash
