/**
 * Typed getters over a function's environment, read once at cold start. A missing or malformed
 * value throws at once with a message that says what to set.
 */

export type EnvRecord = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export function requiredString(env: EnvRecord, name: string, what: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`Set ${name}: ${what}.`);
  return value;
}

export function optionalString(env: EnvRecord, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function positiveInteger(env: EnvRecord, name: string, fallback: number): number {
  const raw = optionalString(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive integer, got "${raw}".`);
  }
  return value;
}
