// zh-CN first, English beside it (the top bar's switch). The choice is not stored: every
// session starts in Chinese.
import { createI18n } from "vue-i18n";
import zh from "./zh-CN";
import en from "./en";
import type { AreaMessages } from "./area";

// Each page area's messages (areas/<name>.ts, made with area()) under the key <name>.
const areas = import.meta.glob<{ default: AreaMessages }>("./areas/*.ts", { eager: true });
const messages: Record<"zh-CN" | "en", Record<string, object>> = { "zh-CN": { ...zh }, en: { ...en } };
for (const [path, mod] of Object.entries(areas)) {
  const name = path.replace(/^\.\/areas\//, "").replace(/\.ts$/, "");
  messages["zh-CN"][name] = mod.default["zh-CN"];
  messages.en[name] = mod.default.en;
}

export type Locale = "zh-CN" | "en";

export const i18n = createI18n({
  legacy: false,
  locale: "zh-CN",
  fallbackLocale: "zh-CN",
  // The areas' keys are strings the templates name; the messages' type is the core's.
  messages: messages as unknown as { "zh-CN": typeof zh; en: typeof zh },
});

export function setLocale(l: Locale) {
  i18n.global.locale.value = l;
  document.documentElement.lang = l;
}
