// The EngramOS REST client: the methods and types of the Python ``engramos.Client``
// (camelCase names for the multi-word ones), over ``fetch``.

import { errorOf, ServerError } from "./errors.js";
import type {
  AddResult, AnswerRequest, AnswerResult, ContextBlock, ContextRequest, ConversationRef, Filters, HistoryEntry,
  ImportReport, Job, MemoryRecord, Message, MetadataCondition, Page, RetentionReport, Scene, SearchRequest,
  SearchResult, WorkingMemory,
} from "./types.js";

/** A search's fields besides the query; the scope fields of ``Filters`` may be given at the top. */
export type SearchOptions = Omit<SearchRequest, "query"> & Filters;
export type ContextOptions = Omit<ContextRequest, "query"> & Filters;
export type AnswerOptions = Omit<AnswerRequest, "query"> & Filters;
export type JobStatus = "pending" | "running" | "done" | "failed" | "parked";

/** A message as ``add`` takes it: speaker-shaped or chat-shaped, as in Python. */
export interface MessageIn {
  speaker?: string;
  sender?: string;
  role?: string;
  name?: string;
  text?: string;
  content?: string;
  timestamp?: string | number;
  id?: string | number;
  metadata?: Record<string, unknown>;
  image_caption?: string;
}

export interface ClientOptions {
  /** Milliseconds before a request is abandoned (default 60,000). */
  timeoutMs?: number;
  /** The fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | boolean | string[] | null | undefined>;

export class Client {
  readonly baseUrl: string;
  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(baseUrl: string, apiKey?: string, options: ClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.apiKey = apiKey;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  // ------------------------------------------------------------ transport
  private async request(method: string, path: string, init: { query?: Query; json?: unknown;
    body?: BodyInit; headers?: Record<string, string> } = {}): Promise<Response> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(init.query ?? {})) {
      if (v === undefined || v === null) continue;
      for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(one));
    }
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (this.apiKey) headers.Authorization = `Bearer ${this.apiKey}`;
    let body = init.body;
    if (init.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(init.json);
    }
    let resp: Response;
    try {
      resp = await this.fetchImpl(url, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (exc) {
      throw new ServerError(`cannot reach EngramOS at ${this.baseUrl}: ${String(exc)}`, "server_error", 0);
    }
    if (resp.status >= 400) throw await errorOf(resp);
    return resp;
  }

  private async json<T>(method: string, path: string, init: Parameters<Client["request"]>[2] = {}): Promise<T> {
    return (await (await this.request(method, path, init)).json()) as T;
  }

  // ------------------------------------------------------------- memory
  add(messages: MessageIn | MessageIn[], options: { user_id?: string; agent_id?: string; conversation_id?: string;
    session_id?: string; flush?: boolean; process?: boolean } = {}): Promise<AddResult> {
    const { process, ...rest } = options;
    const body = { messages: Array.isArray(messages) ? messages : [messages], ...rest,
      ...(process === undefined ? {} : { wait: process }) };
    return this.json("POST", "/v1/messages", { json: body });
  }

  search(query: string | SearchRequest, options: SearchOptions = {}): Promise<SearchResult> {
    return this.json("POST", "/v1/search", { json: requestOf(query, options) });
  }

  context(query: string | ContextRequest, options: ContextOptions = {}): Promise<ContextBlock> {
    return this.json("POST", "/v1/context", { json: requestOf(query, options) });
  }

  answer(query: string | AnswerRequest, options: AnswerOptions = {}): Promise<AnswerResult> {
    return this.json("POST", "/v1/answer", { json: requestOf(query, options) });
  }

  get(memoryId: string): Promise<MemoryRecord> {
    return this.json("GET", `/v1/memories/${enc(memoryId)}`);
  }

  list(options: { filters?: Filters; limit?: number; cursor?: string } & Filters = {}): Promise<Page> {
    const { filters, limit, cursor, ...scope } = options;
    const f: Filters = { ...(filters ?? {}), ...scope };
    const { kinds, metadata, ...ids } = f;
    const unsupported = Object.keys(ids).filter(
      (k) => !["user_id", "agent_id", "conversation_id", "session_id"].includes(k));
    if (unsupported.length) throw new Error(`filters: the REST listing does not take ${unsupported.join(", ")}`);
    return this.json("GET", "/v1/memories", { query: { ...(ids as Query), kind: kinds ?? undefined,
      metadata: metadata ? JSON.stringify(metadata satisfies Record<string, unknown | MetadataCondition>) : undefined,
      limit: limit ?? 50, cursor } });
  }

  put(text: string, options: { user_id?: string; agent_id?: string; key?: string; metadata?: Record<string, unknown>;
    timestamp?: string | Date } = {}): Promise<MemoryRecord> {
    const { timestamp, ...rest } = options;
    const body = { text, ...rest, ...(timestamp === undefined ? {} :
      { timestamp: timestamp instanceof Date ? timestamp.toISOString() : timestamp }) };
    return this.json("POST", "/v1/memories", { json: body });
  }

  update(memoryId: string, options: { text?: string; metadata?: Record<string, unknown> }): Promise<MemoryRecord> {
    return this.json("PATCH", `/v1/memories/${enc(memoryId)}`, { json: options });
  }

  delete(memoryId: string): Promise<MemoryRecord> {
    return this.json("DELETE", `/v1/memories/${enc(memoryId)}`);
  }

  archive(memoryId: string): Promise<MemoryRecord> {
    return this.json("POST", `/v1/memories/${enc(memoryId)}/archive`);
  }

  restore(memoryId: string): Promise<MemoryRecord> {
    return this.json("POST", `/v1/memories/${enc(memoryId)}/restore`);
  }

  forget(options: { memory_id?: string; message_id?: string; conversation_id?: string;
    user_id?: string }): Promise<Record<string, number>> {
    return this.json("POST", "/v1/forget", { json: options });
  }

  history(memoryId: string): Promise<HistoryEntry[]> {
    return this.json("GET", `/v1/memories/${enc(memoryId)}/history`);
  }

  retention(options: { apply?: boolean } = {}): Promise<RetentionReport> {
    return this.json(options.apply ? "POST" : "GET", "/v1/retention");
  }

  workingMemory(conversationId: string, options: { budget_tokens?: number } = {}): Promise<WorkingMemory> {
    return this.json("GET", `/v1/conversations/${enc(conversationId)}/working`, { query: options });
  }

  // ------------------------------------------------------------ tenancy
  users(): Promise<string[]> {
    return this.json("GET", "/v1/users");
  }

  conversations(options: { user_id?: string } = {}): Promise<ConversationRef[]> {
    return this.json("GET", "/v1/conversations", { query: options });
  }

  messages(conversationId: string, options: { limit?: number; latest?: boolean } = {}): Promise<Message[]> {
    return this.json("GET", `/v1/conversations/${enc(conversationId)}/messages`,
      { query: { limit: options.limit ?? 1000, latest: options.latest ?? false } });
  }

  scenes(options: { user_id: string }): Promise<Scene[]> {
    return this.json("GET", "/v1/scenes", { query: options });
  }

  profile(options: { user_id: string }): Promise<MemoryRecord[]> {
    return this.json("GET", `/v1/users/${enc(options.user_id)}/profile`);
  }

  // --------------------------------------------------------------- jobs
  jobs(status?: JobStatus[], options: { limit?: number } = {}): Promise<Job[]> {
    return this.json("GET", "/v1/jobs", { query: { status, limit: options.limit ?? 100 } });
  }

  status(): Promise<Record<string, unknown>> {
    return this.json("GET", "/v1/jobs/status");
  }

  async retry(): Promise<number> {
    return (await this.json<{ requeued: number }>("POST", "/v1/jobs/retry")).requeued;
  }

  health(): Promise<Record<string, unknown>> {
    return this.json("GET", "/v1/health");
  }

  // ---------------------------------------------------------- MemCubes
  /** A MemCube of the scope, as bytes (see docs/memcube.md). */
  async exportCube(options: { user_id?: string; agent_id?: string; conversation_id?: string; sign_key?: string;
    key_id?: string } = {}): Promise<Uint8Array> {
    const { sign_key, ...query } = options;
    const resp = await this.request("GET", "/v1/cube", { query,
      headers: sign_key ? { "X-Engram-Cube-Key": sign_key } : {} });
    return new Uint8Array(await resp.arrayBuffer());
  }

  importCube(cube: Uint8Array | Blob, options: { as_user?: string; on_conflict?: "skip" | "replace" | "keep-both";
    reembed?: boolean; sign_key?: string } = {}): Promise<ImportReport> {
    const { sign_key, reembed, ...query } = options;
    return this.json("POST", "/v1/cube", { body: cube as BodyInit,
      query: { ...query, reembed: reembed ?? true },
      headers: { "Content-Type": "application/zip", ...(sign_key ? { "X-Engram-Cube-Key": sign_key } : {}) } });
  }

  /** A user's memory as a fine-tuning set (chat JSONL). */
  async exportTraining(options: { user_id: string; format?: "sft" | "preference" }): Promise<string> {
    const resp = await this.request("GET", `/v1/users/${enc(options.user_id)}/training`,
      { query: { format: options.format ?? "sft" } });
    return resp.text();
  }

  /** Nothing to release (fetch keeps no client state); kept for parity with Python. */
  close(): void {}
}

function enc(id: string): string {
  return encodeURIComponent(id);
}

function requestOf<T extends { query: string }>(query: string | T, options: object): T {
  return (typeof query === "string" ? { ...options, query } : { ...query, ...options }) as T;
}
