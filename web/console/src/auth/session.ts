// The signed-in session. Only the bearer token is kept, in sessionStorage (gone when the tab
// closes); group, staff id, roles and estates are read back from the token's claims, and the
// person's name is asked of the directory again after a reload. Nothing else is stored.
import { reactive, readonly } from "vue";
import type { Session } from "./types";
import { parseRoles } from "../roles";
import { signedInWith } from "./oidc-rules";

const KEY = "wuye.console.token";

interface Claims {
  sub?: string;
  grp?: string;
  est?: string[];
  roles?: string[];
  exp?: number;
}

function decodeClaims(token: string): Claims | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(b64 + "===".slice((b64.length + 3) % 4)), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as Claims;
  } catch {
    return null;
  }
}

/** The session a token carries, or null when it is unreadable or expired. */
export function sessionFromToken(token: string, name = "", now = Date.now()): Session | null {
  const c = decodeClaims(token);
  if (!c || !c.sub || !c.exp || c.exp * 1000 <= now) return null;
  return {
    token,
    expireTime: new Date(c.exp * 1000).toISOString(),
    groupId: c.grp ?? "",
    staffId: c.sub,
    name,
    roles: parseRoles(c.roles ?? []),
    estateIds: c.est ?? [],
  };
}

const state = reactive<{ current: Session | null }>({ current: null });
let expiryTimer: number | undefined;

function store(token: string | null) {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}

function scheduleExpiry(s: Session) {
  window.clearTimeout(expiryTimer);
  const ms = Date.parse(s.expireTime) - Date.now();
  expiryTimer = window.setTimeout(() => session.signOut("expired"), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
}

export const session = {
  state: readonly(state),
  token(): string | null {
    return state.current?.token ?? null;
  },
  /** Takes a fresh sign-in. */
  begin(s: Session) {
    state.current = { ...s };
    store(s.token);
    scheduleExpiry(s);
  },
  /** After a reload: the stored token, if it is still good. */
  restore(): Session | null {
    const token = sessionStorage.getItem(KEY);
    const s = token ? sessionFromToken(token) : null;
    if (!s) {
      store(null);
      return null;
    }
    state.current = s;
    scheduleExpiry(s);
    return s;
  },
  setName(name: string) {
    if (state.current) state.current.name = name;
  },
  /**
   * Forgets the session (memory and storage). "user": the person signed out; after a sign-in
   * at the group's provider, the browser goes on to the provider's end_session_endpoint
   * (when it has one), which ends the provider's session too and comes back to /sign-in.
   * "expired" (the token's exp) and "refused" (a service said unauthenticated) only go to
   * /sign-in, which says why: signing in again at the provider needs no password while its
   * own session lasts.
   */
  signOut(reason: "user" | "expired" | "refused" = "user") {
    const token = state.current?.token ?? sessionStorage.getItem(KEY);
    window.clearTimeout(expiryTimer);
    state.current = null;
    store(null);
    if (reason !== "user") {
      window.location.assign(`/sign-in?ended=${reason}`);
    } else if (token && signedInWith(token) === "oidc") {
      void import("./oidc")
        .then((m) => m.oidcSignIn.signOutUrl())
        .catch(() => null)
        .then((url) => window.location.assign(url ?? "/sign-in"));
    } else {
      window.location.assign("/sign-in");
    }
  },
};
