import type { Interceptor, Transport } from "@connectrpc/connect";
import type { ConnectTransportOptions } from "@connectrpc/connect-web";

/** The caller's bearer token, or a function that returns it (asked each call). */
export type Token = string | (() => string | Promise<string>);

/** An interceptor that sets `Authorization: Bearer <token>` on every call. */
export declare function bearer(token: Token): Interceptor;

/** A Connect transport to wuye-gateway that sends the token (when given). */
export declare function createTransport(
  baseUrl: string,
  token?: Token,
  options?: Omit<ConnectTransportOptions, "baseUrl">,
): Transport;
