// Generated from the EngramOS server's OpenAPI spec by scripts/gen_ts_types.py: do not edit.

export interface AddBody {
  messages: (Record<string, unknown>)[];
  user_id?: string | null;
  agent_id?: string | null;
  conversation_id?: string | null;
  session_id?: string | null;
  flush?: boolean;
  wait?: boolean;
}

export interface AddResult {
  message_ids: string[];
  inserted: number;
  duplicates: number;
  jobs_run?: number;
  pending_jobs?: number;
  job_ids?: string[];
}

/** An answer from memory by the configured LLM, citing message ids. */
export interface AnswerRequest {
  /** A question, keywords or dialogue. */
  query: string;
  /** Scope (user, agent, conversation...) and conditions on kind, speaker and metadata. */
  filters?: Filters;
  /** Candidates considered for the block. */
  top_k?: number;
  /** Keep and favour memories whose event (or said) time overlaps this range; [start, end] is accepted. */
  time_range?: TimeRange | null;
  /** 'Now' for relative words in the query ('last week'); default: the current time. */
  reference_time?: string | null;
  /** Judge what was true at this time (a superseded fact that still held then counts as current); default: a time the query names, else the reference time. */
  as_of?: string | null;
  /** Add neighbouring turns and cell episodes. */
  expand?: boolean;
  /** Check the evidence and search again when it is not enough. */
  agentic?: boolean;
  /** Pack from distinct hits only; by default the packer sees every representation (a fact, its turn, its episode) and takes, within the budget, what adds evidence not yet in the block. */
  collapse?: boolean;
  /** Also search these mounts (other spaces' memory shared with this one; '*': every mount); their hits carry `source`. */
  mounts?: string[];
  /** Token budget (cl100k_base); default: the configured recall budget. */
  budget_tokens?: number | null;
  /** Start with the conversation's working memory (filters.conversation_id): a block that stays the same from one question to the next, so serving engines reuse its cached prefix; the question's own evidence follows, within the same budget. */
  working?: boolean;
}

export interface AnswerResult {
  question: string;
  answer: string;
  message_ids: string[];
  context: ContextBlock;
  llm_calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens?: number;
  model?: string | null;
  adapter?: string | null;
}

export interface AuditEntry {
  id: string;
  space: string;
  actor: string;
  action: string;
  target: string;
  at: string;
  detail?: Record<string, unknown>;
}

/** A pointer from a memory to one raw message it came from. */
export interface Citation {
  message_id: string;
  timestamp: string;
  speaker: string;
  external_id?: string | null;
}

export interface ContextBlock {
  query: string;
  text: string;
  tokens: number;
  budget_tokens: number;
  hits: Hit[];
  message_ids: string[];
  external_ids?: string[];
  prefix_tokens?: number;
}

/** A context block: the best evidence within a token budget, as prompt text. */
export interface ContextRequest {
  /** A question, keywords or dialogue. */
  query: string;
  /** Scope (user, agent, conversation...) and conditions on kind, speaker and metadata. */
  filters?: Filters;
  /** Candidates considered for the block. */
  top_k?: number;
  /** Keep and favour memories whose event (or said) time overlaps this range; [start, end] is accepted. */
  time_range?: TimeRange | null;
  /** 'Now' for relative words in the query ('last week'); default: the current time. */
  reference_time?: string | null;
  /** Judge what was true at this time (a superseded fact that still held then counts as current); default: a time the query names, else the reference time. */
  as_of?: string | null;
  /** Add neighbouring turns and cell episodes. */
  expand?: boolean;
  /** With an LLM: check the evidence and, if it is not enough, search again with complementary queries. */
  agentic?: boolean;
  /** Pack from distinct hits only; by default the packer sees every representation (a fact, its turn, its episode) and takes, within the budget, what adds evidence not yet in the block. */
  collapse?: boolean;
  /** Also search these mounts (other spaces' memory shared with this one; '*': every mount); their hits carry `source`. */
  mounts?: string[];
  /** Token budget (cl100k_base); default: the configured recall budget. */
  budget_tokens?: number | null;
  /** Start with the conversation's working memory (filters.conversation_id): a block that stays the same from one question to the next, so serving engines reuse its cached prefix; the question's own evidence follows, within the same budget. */
  working?: boolean;
}

/** A conversation and who it belongs to. */
export interface ConversationRef {
  user_id: string;
  conversation_id: string;
  agent_id?: string | null;
}

/** Another memory of the same evidence, folded into a hit (see ``SearchRequest.collapse``). */
export interface Covered {
  memory_id: string;
  kind: "episode" | "fact" | "foresight" | "profile" | "turn";
  score: number;
}

export interface ErrorDetail {
  code: string;
  message: string;
  field?: string | null;
}

export interface ErrorResponse {
  error: ErrorDetail;
}

/** Scope and filters of a search or listing. ``space`` is always applied (by the facade); every field given here narrows further. */
export interface Filters {
  user_id?: string | null;
  agent_id?: string | null;
  conversation_id?: string | null;
  session_id?: string | null;
  kinds?: ("episode" | "fact" | "foresight" | "profile" | "turn")[] | null;
  speaker?: string | null;
  metadata?: Record<string, string | number | boolean | MetadataCondition> | null;
  include_inactive?: boolean;
  include_archived?: boolean;
}

export interface ForgetBody {
  memory_id?: string | null;
  message_id?: string | null;
  conversation_id?: string | null;
  user_id?: string | null;
}

export interface HistoryEntry {
  id: string;
  memory_id: string;
  action: "create" | "update" | "supersede" | "delete" | "restore" | "archive" | "expire";
  actor: string;
  at: string;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

export interface Hit {
  memory: MemoryRecord;
  score: number;
  scores: Scores;
  citations?: Citation[];
  via?: string;
  validity?: "current" | "superseded" | "expired" | "not_yet" | "outdated";
  note?: string | null;
  superseded_by?: string | null;
  covers?: Covered[];
  source?: string | null;
}

/** What an import did, part by part. */
export interface ImportReport {
  cube_id: string;
  scope: string;
  space: string;
  users: Record<string, string>;
  conversations?: Record<string, string>;
  inserted?: Record<string, number>;
  skipped?: Record<string, number>;
  replaced?: number;
  reembedded?: number;
  ids_remapped?: boolean;
}

export interface Job {
  id: string;
  space: string;
  kind: string;
  payload: Record<string, unknown>;
  status: "pending" | "running" | "done" | "failed" | "parked";
  attempts: number;
  max_attempts: number;
  run_after: string;
  lease_until?: string | null;
  worker?: string | null;
  last_error?: string | null;
  created_at: string;
  updated_at: string;
  usage?: Record<string, unknown> | null;
}

/** One memory: an episode, a fact, a foresight, a profile item or a raw turn. */
export interface MemoryRecord {
  id: string;
  space: string;
  kind: "episode" | "fact" | "foresight" | "profile" | "turn";
  user_id: string;
  agent_id?: string | null;
  conversation_id: string;
  session_id?: string | null;
  speaker?: string | null;
  text: string;
  observed_at: string;
  event_start?: string | null;
  event_end?: string | null;
  valid_from?: string | null;
  valid_to?: string | null;
  status?: "active" | "superseded" | "deleted" | "archived" | "expired";
  supersedes?: string | null;
  cell_id?: string | null;
  scene_id?: string | null;
  message_ids?: string[];
  metadata?: Record<string, unknown>;
  produced_by?: string;
  created_at: string;
  updated_at: string;
}

/** A stored raw message: the source of truth every memory cites. */
export interface Message {
  id: string;
  space: string;
  user_id: string;
  agent_id?: string | null;
  conversation_id: string;
  session_id?: string | null;
  seq: number;
  sender: string;
  sender_name: string;
  role: string;
  content: string;
  timestamp: string;
  external_id?: string | null;
  metadata?: Record<string, unknown>;
  content_hash: string;
  cell_id?: string | null;
  created_at: string;
}

/** Conditions on one metadata key; all given ones must hold. */
export interface MetadataCondition {
  eq?: string | number | boolean | null;
  ne?: string | number | boolean | null;
  in?: (string | number | boolean)[] | null;
  not_in?: (string | number | boolean)[] | null;
  gt?: number | string | null;
  gte?: number | string | null;
  lt?: number | string | null;
  lte?: number | string | null;
  exists?: boolean | null;
}

/** A share mounted into ``space`` under ``name``: search and context can include it. */
export interface Mount {
  space: string;
  name: string;
  share_id: string;
  created_at: string;
}

export interface MountBody {
  share_id: string;
  name: string;
}

export interface Page {
  items: MemoryRecord[];
  next_cursor?: string | null;
}

export interface PutBody {
  text: string;
  user_id?: string | null;
  agent_id?: string | null;
  key?: string | null;
  metadata?: Record<string, unknown> | null;
  timestamp?: string | null;
}

export interface RetentionReport {
  space: string;
  dry_run: boolean;
  at: string;
  rules: RuleOutcome[];
  job_id?: string | null;
}

/** A message with its vaulted PII values put back (``Memory.admin.reveal``). */
export interface Revealed {
  message_id: string;
  user_id: string;
  agent_id?: string | null;
  conversation_id: string;
  text: string;
  values: (Record<string, string>)[];
}

export interface RuleOutcome {
  rule: string;
  action: string;
  memories: number;
  sample?: (Record<string, string>)[];
}

export interface Scene {
  id: string;
  space: string;
  user_id: string;
  label: string;
  size: number;
  first_at: string;
  last_at: string;
}

/** Why a hit ranks where it does. Missing parts are ``None`` (not a candidate there). */
export interface Scores {
  bm25?: number | null;
  vector?: number | null;
  entity?: number | null;
  fusion?: number;
  time?: number;
  rerank?: number | null;
  validity?: number;
  final?: number;
}

/** A recall: ranked hits with score breakdown and citations. */
export interface SearchRequest {
  /** A question, keywords or dialogue. */
  query: string;
  /** Scope (user, agent, conversation...) and conditions on kind, speaker and metadata. */
  filters?: Filters;
  /** How many hits. */
  top_k?: number;
  /** Keep and favour memories whose event (or said) time overlaps this range; [start, end] is accepted. */
  time_range?: TimeRange | null;
  /** 'Now' for relative words in the query ('last week'); default: the current time. */
  reference_time?: string | null;
  /** Judge what was true at this time (a superseded fact that still held then counts as current); default: a time the query names, else the reference time. */
  as_of?: string | null;
  /** Add neighbouring turns and cell episodes. */
  expand?: boolean;
  /** With an LLM: check the evidence and, if it is not enough, search again with complementary queries. */
  agentic?: boolean;
  /** Count distinct evidence: a turn, its facts and its episode come back as one hit (the best-ranked), the others listed in its `covers`; false: every representation is a hit of its own. */
  collapse?: boolean;
  /** Also search these mounts (other spaces' memory shared with this one; '*': every mount); their hits carry `source`. */
  mounts?: string[];
}

export interface SearchResult {
  query: string;
  hits: Hit[];
  time_range?: TimeRange | null;
  time_range_soft?: boolean;
  reference_time: string;
  wants_date?: boolean;
  took_ms?: number;
  rounds?: number;
  queries?: string[];
}

/** A grant by ``space``'s admin: ``to_space`` may mount this space's memory (of one user or agent, or all of it) read-only, under ``name``. */
export interface Share {
  id: string;
  space: string;
  name: string;
  to_space: string;
  user_id?: string | null;
  agent_id?: string | null;
  created_at: string;
  revoked_at?: string | null;
}

export interface ShareBody {
  name: string;
  to_space: string;
  user_id?: string | null;
  agent_id?: string | null;
}

export interface TimeRange {
  start: string;
  end: string;
  source?: string;
}

export interface UpdateBody {
  text?: string | null;
  metadata?: Record<string, unknown> | null;
}

export interface WorkingEntry {
  memory_id: string;
  section: string;
  line: string;
  tokens: number;
  message_ids?: string[];
}

/** A conversation's working block: ``text`` is the stable prompt prefix. */
export interface WorkingMemory {
  conversation_id: string;
  user_id: string;
  text: string;
  tokens: number;
  budget_tokens: number;
  entries?: WorkingEntry[];
  version?: number;
  kept?: number;
  refreshed_at?: string | null;
  last_seq?: number;
}
