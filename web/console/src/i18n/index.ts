// zh-CN first, English beside it (the top bar's switch). The choice is not stored: every
// session starts in Chinese.
import { createI18n } from "vue-i18n";
import zh from "./zh-CN";
import en from "./en";

export type Locale = "zh-CN" | "en";

export const i18n = createI18n({
  legacy: false,
  locale: "zh-CN",
  fallbackLocale: "zh-CN",
  messages: { "zh-CN": zh, en },
});

export function setLocale(l: Locale) {
  i18n.global.locale.value = l;
  document.documentElement.lang = l;
}
