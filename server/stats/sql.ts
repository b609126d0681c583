/**
 * Query parameters for compiled SQL: every value — property keys included — travels as a
 * ClickHouse query parameter (`{p3:String}`), never inside the SQL text. The only things the
 * compiler writes into SQL are identifiers and fragments from the registry.
 */
import { chTime } from '../../shared/rows.ts';

export type ParamType = 'String' | 'Float64' | 'UInt32' | 'Array(String)' | "DateTime64(3, 'UTC')";

export class Params {
  readonly values: Record<string, unknown> = {};
  private next = 0;

  /** `prefix` keeps the names of two statements' parameters apart when one holds the other. */
  constructor(private readonly prefix = 'p') {}

  /** Binds `value` and returns the placeholder to put in the SQL. */
  bind(value: unknown, type: ParamType = 'String'): string {
    const name = `${this.prefix}${this.next++}`;
    this.values[name] = value;
    return `{${name}:${type}}`;
  }

  /** A UTC instant (epoch ms) as a DateTime64(3, 'UTC') parameter. */
  time(ms: number): string {
    return this.bind(chTime(ms), "DateTime64(3, 'UTC')");
  }

  /** A time zone name; ClickHouse substitutes parameters before analysis, so it works where a constant is required. */
  tz(timezone: string): string {
    return this.bind(timezone);
  }
}

/** A SQL string literal for a constant written by the compiler itself (event names, never user input). */
export function literal(s: string): string {
  if (!/^[\w.-]*$/.test(s)) throw new Error(`literal(): refusing ${JSON.stringify(s)}; bind it as a parameter`);
  return `'${s}'`;
}
