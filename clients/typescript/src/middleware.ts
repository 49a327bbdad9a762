// A Vercel AI SDK language-model middleware that puts what EngramOS recalls for the
// latest user message into the prompt, as a system message before the conversation.

import type { LanguageModelV4CallOptions, LanguageModelV4Middleware } from "@ai-sdk/provider";
import type { Client } from "./client.js";

export interface MemoryMiddlewareOptions {
  client: Client;
  user_id: string;
  agent_id?: string;
  conversation_id?: string;
  /** The recalled block's budget in tokens (default 512). */
  budget_tokens?: number;
  /** Written above the block (default: a plain instruction). */
  header?: string;
}

export function engramMemoryMiddleware(options: MemoryMiddlewareOptions): LanguageModelV4Middleware {
  const header = options.header ?? "What you remember about the user:";
  return {
    specificationVersion: "v4",
    async transformParams({ params }): Promise<LanguageModelV4CallOptions> {
      const question = latestUserText(params);
      if (!question) return params;
      const block = await options.client.context(question.slice(0, 2000), {
        user_id: options.user_id, agent_id: options.agent_id, conversation_id: options.conversation_id,
        budget_tokens: options.budget_tokens ?? 512 });
      if (!block.hits.length) return params;
      const system = { role: "system" as const, content: `${header}\n${block.text}` };
      const firstNonSystem = params.prompt.findIndex((m) => m.role !== "system");
      const at = firstNonSystem === -1 ? params.prompt.length : firstNonSystem;
      return { ...params, prompt: [...params.prompt.slice(0, at), system, ...params.prompt.slice(at)] };
    },
  };
}

function latestUserText(params: LanguageModelV4CallOptions): string {
  for (let i = params.prompt.length - 1; i >= 0; i--) {
    const m = params.prompt[i];
    if (m.role !== "user") continue;
    const text = m.content.filter((p) => p.type === "text").map((p) => (p as { text: string }).text).join("\n");
    if (text.trim()) return text;
  }
  return "";
}
