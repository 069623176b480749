/** Types for scripts/retry.mjs (plain JavaScript, so that scripts/setup.mjs can use it before npm ci). */
export function backoffMs(attempt: number, baseMs?: number): number;
export function attempts(): number;
export function retrySync(what: string, attempt: (n: number) => boolean, note?: (text: string) => void): boolean;
export function retryAsync(what: string, attempt: (n: number) => Promise<boolean>, note?: (text: string) => void): Promise<boolean>;
