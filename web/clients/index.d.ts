export * from "./gen/index.js";
export { bearer, createTransport } from "./transport.js";
