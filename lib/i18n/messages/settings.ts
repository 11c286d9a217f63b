/** The organization settings page: time zone, network policy, where each value comes from, connection tests. */
import { defineMessages } from "../define.ts";

export const settings = defineMessages({
  ru: {
    "settings.title": "Настройки",
    "settings.general": "Организация",
    "settings.timezone": "Часовой пояс",
    "settings.timezone.hint": "Все даты в панели показываются в этом поясе.",
    "settings.timezone.now": "Сейчас там {time}",
    "settings.private":
      "Разрешить исходящие запросы в частные сети (10/8, 192.168/16, 127/8) — только в пределах, разрешённых оператором сервера (SHLYUZ_ALLOW_PRIVATE_NETWORKS)",
    "settings.source.org": "задано организацией",
    "settings.source.env": "из окружения: {value}",
    "settings.resetHint": "Пустое поле возвращает значение из окружения.",
    "settings.saved": "Сохранено",
    "settings.connections": "Проверка подключений",
    "settings.connections.lead":
      "Проверяет, что сервис отвечает с настройками организации (через те же правила исходящих запросов, что и задания).",
    "settings.test": "Проверить подключение",
    "settings.test.ok": "Подключение работает ({ms, number} мс): {detail}",
    "settings.test.failed": "Не удалось: {reason}",
    "settings.test.bitrix": "Битрикс24",
    "settings.test.dadata": "DaData",
    "settings.test.yandexgpt": "YandexGPT",
    "settings.test.sample.bitrix": "подразделений в портале: {sample}",
    "settings.test.sample.dadata": "адрес разобран как {sample}",
    "settings.test.sample.yandexgpt": "модель ответила «{sample}»",
  },
  en: {
    "settings.title": "Settings",
    "settings.general": "Organization",
    "settings.timezone": "Time zone",
    "settings.timezone.hint": "Every date in the panel is shown in this zone.",
    "settings.timezone.now": "It is {time} there now",
    "settings.private":
      "Allow outgoing calls to private networks (10/8, 192.168/16, 127/8) — only within what the server's operator allows (SHLYUZ_ALLOW_PRIVATE_NETWORKS)",
    "settings.source.org": "set by the organization",
    "settings.source.env": "from the environment: {value}",
    "settings.resetHint": "An empty field brings back the environment value.",
    "settings.saved": "Saved",
    "settings.connections": "Connection tests",
    "settings.connections.lead":
      "Checks that the service answers with the organization's settings (through the same outgoing-call rules as the jobs).",
    "settings.test": "Test connection",
    "settings.test.ok": "The connection works ({ms, number} ms): {detail}",
    "settings.test.failed": "Failed: {reason}",
    "settings.test.bitrix": "Bitrix24",
    "settings.test.dadata": "DaData",
    "settings.test.yandexgpt": "YandexGPT",
    "settings.test.sample.bitrix": "departments in the portal: {sample}",
    "settings.test.sample.dadata": "the address was cleaned as {sample}",
    "settings.test.sample.yandexgpt": "the model answered “{sample}”",
  },
});
