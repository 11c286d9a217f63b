/** The Members page. */
import { defineMessages } from "../define.ts";

export const members = defineMessages({
  ru: {
    "members.title": "Участники",
    "members.col.email": "Эл. почта",
    "members.col.name": "Имя",
    "members.col.role": "Роль",
    "members.col.actions": "Действия",
    "members.remove": "Исключить",
    "members.remove.confirm": "Исключить {email} из организации? Его API-токены будут отозваны.",
    "members.removed": "Участник исключён",
    "members.add.title": "Добавить участника",
    "members.add.email": "Эл. почта",
    "members.add.name": "Имя",
    "members.add.password": "Начальный пароль (только для нового пользователя)",
    "members.add.role": "Роль",
    "members.add.submit": "Добавить",
    "members.you": "это вы",
  },
  en: {
    "members.title": "Members",
    "members.col.email": "E-mail",
    "members.col.name": "Name",
    "members.col.role": "Role",
    "members.col.actions": "Actions",
    "members.remove": "Remove",
    "members.remove.confirm": "Remove {email} from the organization? Their API tokens are revoked.",
    "members.removed": "Member removed",
    "members.add.title": "Add a member",
    "members.add.email": "E-mail",
    "members.add.name": "Name",
    "members.add.password": "Initial password (only for a new user)",
    "members.add.role": "Role",
    "members.add.submit": "Add",
    "members.you": "you",
  },
});
