/** The logged-in user as guards, `@CurrentUser()` and `req.user` see it. */
export interface AuthUser {
  id: number;
  username: string;
  isStaff: boolean;
  createdAt: Date;
}

/** Public JSON of a user (never the password hash). */
export interface UserJson {
  id: number;
  username: string;
  is_staff: boolean;
  created_at: string;
}

export function toUserJson(u: AuthUser): UserJson {
  return { id: u.id, username: u.username, is_staff: u.isStaff, created_at: u.createdAt.toISOString() };
}
