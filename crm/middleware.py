from urllib.parse import urlsplit

from django.conf import settings
from django.utils import translation


class UserLanguageMiddleware:
    """Activate the signed-in user's chosen language, if they chose one.

    Runs after LocaleMiddleware, which has already picked the language from
    the session cookie or the browser; a saved user preference wins.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            profile = getattr(user, "crm_profile", None)
            if profile is not None and profile.language:
                translation.activate(profile.language)
                request.LANGUAGE_CODE = profile.language
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Send the site's Content-Security-Policy on every response that has none.

    Every script, style, font and image comes from the site itself, and no
    page may be framed. A view with needs of its own sets the header itself
    and keeps it: the message page sends a stricter policy for the email
    it shows. With DEBUG on, Django's error pages keep their inline styles
    and scripts, so error responses go without the header there.
    """

    DIRECTIVES = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ]
    # The sign-in with Google or Microsoft posts a form whose response
    # redirects to the provider's authorization page, and browsers apply
    # form-action to that redirect too.
    OAUTH_AUTHORIZATION_SETTINGS = ("GOOGLE_OAUTH_AUTHORIZATION_URL", "MICROSOFT_OAUTH_AUTHORIZATION_URL")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.DEBUG and response.status_code >= 400:
            return response
        response.headers.setdefault("Content-Security-Policy", self.policy())
        return response

    @classmethod
    def policy(cls):
        """Return the policy; settings are read on each call, so tests can change them."""
        form_sources = ["'self'"]
        for name in cls.OAUTH_AUTHORIZATION_SETTINGS:
            parts = urlsplit(getattr(settings, name, "") or "")
            if parts.scheme in ("http", "https") and parts.netloc:
                form_sources.append(f"{parts.scheme}://{parts.netloc}")
        return "; ".join([*cls.DIRECTIVES, f"form-action {' '.join(form_sources)}"])
