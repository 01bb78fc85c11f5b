import type { UserJson } from '../common/api-types';

/** The logged-in user as guards, `@CurrentUser()` and `req.user` see it. */
export interface AuthUser {
  id: number;
  username: string;
  isStaff: boolean;
  createdAt: Date;
}

/** Public JSON of a user (never the password hash): the shared REST type. */
export type { UserJson } from '../common/api-types';

export function toUserJson(u: AuthUser): UserJson {
  return { id: u.id, username: u.username, is_staff: u.isStaff, created_at: u.createdAt.toISOString() };
}
