/** Structured logging (pino). Entry points create the root logger; modules take a child. */
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'livepanel'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}

/** A logger that drops everything (tests, CLI). */
export const silentLogger: Logger = pino({ level: 'silent' });
