/** Roles, from most to least powerful. Everything else compares by rank. */
import { z } from "zod";

export const ROLES = ["owner", "admin", "operator", "viewer"] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

const RANK: Record<Role, number> = { owner: 4, admin: 3, operator: 2, viewer: 1 };

/** True when `role` is `min` or above. */
export function hasRole(role: Role, min: Role): boolean {
  return RANK[role] >= RANK[min];
}
