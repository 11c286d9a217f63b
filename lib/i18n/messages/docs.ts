/** The `/docs` page around Swagger UI: the way back to the panel and how "Try it out" is authorized. */
import { defineMessages } from "../define.ts";

export const docs = defineMessages({
  ru: {
    "docs.title": "Документация API",
    "docs.back": "← В панель",
    "docs.session":
      "Вы вошли в панель как {email}: «Try it out» выполняет запросы от вашего имени и с вашей ролью, токен не нужен.",
    "docs.anonymous":
      "Чтобы выполнять запросы через «Try it out», войдите в панель или нажмите «Authorize» и вставьте API-токен (shz_…) со страницы «API-токены».",
    "docs.login": "Войти",
    "docs.programs": "Программы отправляют заголовок {header}.",
  },
  en: {
    "docs.title": "API documentation",
    "docs.back": "← Back to the panel",
    "docs.session":
      "You are logged in to the panel as {email}: “Try it out” sends requests as you, with your role; no token needed.",
    "docs.anonymous":
      "To send requests with “Try it out”, log in to the panel, or press “Authorize” and paste an API token (shz_…) from the API tokens page.",
    "docs.login": "Log in",
    "docs.programs": "Programs send the header {header}.",
  },
});
