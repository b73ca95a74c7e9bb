from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from artifacts_app.site_views import favicon

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("favicon.ico", favicon, name="favicon"),
    path("", include("artifacts_app.urls")),
]

handler404 = "artifacts_app.site_views.page_not_found"
