// A page area's messages, in its own file under areas/ (areas/<name>.ts, keys under
// `<name>.`): the Chinese first, the English with the same keys (checked by the compiler).
export type Shape<T> = { [K in keyof T]: T[K] extends string ? string : Shape<T[K]> };

export interface AreaMessages {
  "zh-CN": object;
  en: object;
}

export function area<T extends object>(zh: T, en: Shape<T>): AreaMessages {
  return { "zh-CN": zh, en };
}
