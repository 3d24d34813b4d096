// The OpenID Connect sign-in's messages (auth/oidc.ts, pages/SignInCallbackPage.vue).
import { area } from "../area";

export default area(
  {
    completing: "正在完成集团账号登录…",
    failedTitle: "集团账号登录未完成",
    back: "返回登录页",
    again: "重新登录",
    ended: { expired: "登录已过期，请重新登录。", refused: "登录已失效（服务拒绝了该令牌），请重新登录。" },
    error: {
      config: "网关未配置集团统一登录（OpenID Connect）。",
      discovery: "无法读取身份提供方的配置（discovery）。",
      network: "无法连接身份提供方。",
      noPending: "本页没有进行中的登录（可能已使用或已超时），请重新登录。",
      state: "登录回调的 state 与本次登录不符，已拒绝（可能是伪造的回调）。",
      denied: "身份提供方拒绝了登录（access_denied）。",
      provider: "身份提供方返回错误。",
      token: "令牌端点拒绝了授权码。",
      idToken: "ID 令牌不属于本次登录，已拒绝。",
      claims: "令牌缺少本系统需要的声明（集团 grp、岗位 roles 等），请联系集团的身份管理员。",
      expired: "收到的令牌已过期。",
    },
  },
  {
    completing: "Completing the sign-in with the group's account…",
    failedTitle: "The group sign-in did not complete",
    back: "Back to sign-in",
    again: "Sign in again",
    ended: {
      expired: "Your session has ended; sign in again.",
      refused: "Your sign-in is no longer valid (a service refused the token); sign in again.",
    },
    error: {
      config: "The gateway names no group sign-in provider (OpenID Connect).",
      discovery: "The identity provider's configuration (discovery) could not be read.",
      network: "The identity provider could not be reached.",
      noPending: "No sign-in is in progress in this tab (used already or too old); sign in again.",
      state: "The answer's state is not this sign-in's: refused (possibly a forged redirect).",
      denied: "The identity provider refused the sign-in (access_denied).",
      provider: "The identity provider answered with an error.",
      token: "The token endpoint refused the code.",
      idToken: "The ID token is not this sign-in's: refused.",
      claims: "The token lacks claims this system needs (group grp, roles, ...); ask the group's identity administrator.",
      expired: "The token received has already expired.",
    },
  },
);
