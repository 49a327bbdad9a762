// The error tree of the Python client, by the server's error codes.

export class EngramError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(message: string, code = "engram_error", status = 0) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
  }
}

/** Bad input: ``field`` names the offending field. */
export class InvalidInputError extends EngramError {
  readonly field: string;
  constructor(field: string, message: string, status = 422) {
    super(`${field}: ${message}`, "invalid_input", status);
    this.field = field;
  }
}

export class NotFoundError extends EngramError {}
export class AuthError extends EngramError {}
export class ForbiddenError extends EngramError {}
export class ConflictError extends EngramError {}
export class TooLargeError extends EngramError {}
export class RateLimitError extends EngramError {}
export class CubeError extends EngramError {
  readonly part: string | null;
  constructor(message: string, part: string | null, status = 422) {
    super(message, "invalid_cube", status);
    this.part = part;
  }
}
export class ServerError extends EngramError {}

const BY_CODE: Record<string, new (message: string, code: string, status: number) => EngramError> = {
  not_found: NotFoundError,
  unauthorized: AuthError,
  forbidden: ForbiddenError,
  conflict: ConflictError,
  too_large: TooLargeError,
  rate_limited: RateLimitError,
};

/** The error an HTTP error response stands for. */
export async function errorOf(resp: Response): Promise<EngramError> {
  let body: unknown;
  try {
    body = await resp.json();
  } catch {
    return new ServerError(`server answered ${resp.status}`, "server_error", resp.status);
  }
  const err = (body as { error?: { code?: string; message?: string; field?: string; part?: string } }).error;
  if (!err || typeof err.code !== "string") {
    return new ServerError(`server answered ${resp.status}`, "server_error", resp.status);
  }
  const message = err.message ?? "";
  if (err.code === "invalid_input") {
    const field = err.field ?? "request";
    const prefix = `${field}: `;
    return new InvalidInputError(field, message.startsWith(prefix) ? message.slice(prefix.length) : message,
      resp.status);
  }
  if (err.code === "invalid_cube") return new CubeError(message, err.part ?? null, resp.status);
  const cls = BY_CODE[err.code];
  return cls ? new cls(message, err.code, resp.status) : new ServerError(message, err.code, resp.status);
}
