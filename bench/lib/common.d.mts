// Types of what TypeScript code (bench/*.bench-test.ts) imports from common.mjs.
export function machineFacts(url: string): Promise<Record<string, unknown>>;
export function writeResults(name: string, data: unknown, file?: string): void;
