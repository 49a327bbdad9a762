export { Client } from "./client.js";
export type { AnswerOptions, ClientOptions, ContextOptions, JobStatus, MessageIn, SearchOptions } from "./client.js";
export * from "./errors.js";
export { engramMemoryMiddleware } from "./middleware.js";
export type { MemoryMiddlewareOptions } from "./middleware.js";
export type * from "./types.js";
