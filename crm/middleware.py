"""Request middleware of the project."""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class RussianFirstLocaleMiddleware(LocaleMiddleware):
    """The UI is Russian unless the user chose another language with the switch (SPEC §6).

    Django's own middleware would follow the browser's Accept-Language, so a browser set to
    English would show English on first visit; here only the language cookie, set by the switch
    (``set_language``), changes the language.
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        available = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in available else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
