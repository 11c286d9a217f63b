/** The overview page (only what the dashboard does not replace). */
import { defineMessages } from "../define.ts";

export const overview = defineMessages({
  ru: {
    "overview.title": "Обзор",
    "overview.backlog": "в очереди",
    "overview.dead": "недоставленных",
    "overview.timezone": "часовой пояс",
    "overview.recent": "Последние события",
    "overview.newOrg": "Новая организация",
    "overview.newOrg.lead": "Вы станете её владельцем; переключаться между организациями можно вверху страницы.",
    "overview.newOrg.name": "Название",
    "overview.settingsLink": "Настройки организации (часовой пояс, сеть, подключения) →",
  },
  en: {
    "overview.title": "Overview",
    "overview.backlog": "queued",
    "overview.dead": "dead letters",
    "overview.timezone": "time zone",
    "overview.recent": "Recent events",
    "overview.newOrg": "New organization",
    "overview.newOrg.lead": "You become its owner; switch between organizations at the top of the page.",
    "overview.newOrg.name": "Name",
    "overview.settingsLink": "Organization settings (time zone, network, connections) →",
  },
});
