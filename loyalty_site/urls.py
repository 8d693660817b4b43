from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from analytics.customer_data import customer_data
from analytics.member_views import MemberAdjustView, MemberDetailView, MemberListView
from analytics.selectors import member_at
from analytics.views import DailyAnalyticsView, HomeView
from api.v1 import api as api_v1
from api.views import ApiKeyListView, ApiKeyRevokeView
from loyalty.card_privacy_views import CardDataView, CardErasureView, CardNewLinkView
from loyalty.card_views import (
    CardCodeView,
    CardLiveQRView,
    CardView,
    JoinConfirmView,
    JoinView,
    PhoneCodeView,
    RecoverConfirmView,
    RecoverView,
)
from loyalty.views import ProgramView, TierAddView, TierRemoveView
from merchants.forms import PasswordResetForm
from merchants.two_factor_views import (
    TwoFactorOffView,
    TwoFactorRecoveryCodesView,
    TwoFactorSetupView,
    TwoFactorVerifyView,
    TwoFactorView,
)
from merchants.views import BusinessView, FlagsView, PosterView, StaffDeactivateView, StaffView, SwitchMerchantView
from operations.metrics import metrics_view
from transactions.counter_views import (
    CheckoutView,
    ReceiptView,
    ScanPauseLiftView,
    ScanPhoneView,
    ScanResolveView,
    ScanView,
)
from transactions.merge_views import MemberMergeView
from transactions.views import TransactionDetailView, TransactionListView, TransactionRefundView

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("scan/", ScanView.as_view(), name="scan"),
    # The counter shows a scanned customer's figures here, which analytics keeps: passed in from this layer.
    path("scan/resolve/", ScanResolveView.as_view(member_at=member_at), name="scan_resolve"),
    path("scan/phone/", ScanPhoneView.as_view(member_at=member_at), name="scan_phone"),
    path("scan/checkout/", CheckoutView.as_view(member_at=member_at), name="checkout"),
    path("scan/pauses/lift/", ScanPauseLiftView.as_view(), name="scan_pause_lift"),
    path("scan/receipt/<uuid:pk>/", ReceiptView.as_view(), name="receipt"),
    path("transactions/", TransactionListView.as_view(), name="transactions"),
    path("transactions/<uuid:pk>/", TransactionDetailView.as_view(), name="transaction"),
    path("transactions/<uuid:pk>/refund/", TransactionRefundView.as_view(), name="transaction_refund"),
    path("customers/", MemberListView.as_view(), name="customers"),
    path("customers/<uuid:pk>/", MemberDetailView.as_view(), name="customer"),
    path("customers/<uuid:pk>/adjust/", MemberAdjustView.as_view(), name="customer_adjust"),
    path("customers/<uuid:pk>/merge/", MemberMergeView.as_view(), name="customer_merge"),
    path("analytics/", DailyAnalyticsView.as_view(), name="daily_analytics"),
    path("program/", ProgramView.as_view(), name="program"),
    path("program/tiers/", TierAddView.as_view(), name="tier_add"),
    path("program/tiers/<uuid:pk>/remove/", TierRemoveView.as_view(), name="tier_remove"),
    path("business/", BusinessView.as_view(), name="business"),
    path("poster/", PosterView.as_view(), name="poster"),
    path("flags/", FlagsView.as_view(), name="flags"),
    re_path(r"^card/(?P<token>[0-9a-f]{64})/$", CardView.as_view(), name="card"),
    re_path(r"^card/(?P<token>[0-9a-f]{64})/live\.svg$", CardLiveQRView.as_view(), name="card_live_qr"),
    # The QR code and the short code together, as JSON, for the card page's refresh.
    re_path(r"^card/(?P<token>[0-9a-f]{64})/live\.json$", CardLiveQRView.as_view(), {"fmt": "json"}, name="card_live"),
    re_path(r"^card/(?P<token>[0-9a-f]{64})/code\.(?P<fmt>png|svg)$", CardCodeView.as_view(), name="card_code"),
    # The customer's data reads sales and visits, above loyalty: handed in from this layer.
    re_path(r"^card/(?P<token>[0-9a-f]{64})/data\.json$", CardDataView.as_view(export=customer_data), name="card_data"),
    re_path(r"^card/(?P<token>[0-9a-f]{64})/new-link/$", CardNewLinkView.as_view(), name="card_new_link"),
    re_path(r"^card/(?P<token>[0-9a-f]{64})/erase/$", CardErasureView.as_view(), name="card_erase"),
    path("join/confirm/<str:signed>/", JoinConfirmView.as_view(), name="join_confirm"),
    path("join/<str:merchant_code>/", JoinView.as_view(), name="join"),
    path("card/code/<uuid:verification_id>/", PhoneCodeView.as_view(), name="phone_code"),
    path("card/recover/", RecoverView.as_view(), name="card_recover"),
    path("card/recover/<str:signed>/", RecoverConfirmView.as_view(), name="card_recover_confirm"),
    path("api-keys/", ApiKeyListView.as_view(), name="api_keys"),
    path("api-keys/<uuid:pk>/revoke/", ApiKeyRevokeView.as_view(), name="api_key_revoke"),
    path("api/v1/", api_v1.urls),
    path("staff/", StaffView.as_view(), name="staff"),
    path("staff/<uuid:pk>/deactivate/", StaffDeactivateView.as_view(), name="staff_deactivate"),
    path("merchant/switch/", SwitchMerchantView.as_view(), name="switch_merchant"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    # The second factor after the password (merchants/two_factor.py)
    path("accounts/two-factor/", TwoFactorView.as_view(), name="two_factor"),
    path("accounts/two-factor/setup/", TwoFactorSetupView.as_view(), name="two_factor_setup"),
    path("accounts/two-factor/verify/", TwoFactorVerifyView.as_view(), name="two_factor_verify"),
    path("accounts/two-factor/recovery-codes/", TwoFactorRecoveryCodesView.as_view(), name="two_factor_recovery"),
    path("accounts/two-factor/off/", TwoFactorOffView.as_view(), name="two_factor_off"),
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=PasswordResetForm),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),  # Prometheus; closed to the public (operations/metrics.py)
]

# A database outage met before any view (in middleware) is a 503 with Retry-After; anything else the 500 page.
handler500 = "system.outage.server_error"
