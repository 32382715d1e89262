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
