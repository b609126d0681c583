/** The one error the query model raises for a query it cannot answer: `400 invalid_query`. */
import { AppError, type Issue } from '../errors.ts';

export function invalidQuery(message: string, issues?: Issue[]): AppError {
  return new AppError(400, 'invalid_query', message, issues);
}
