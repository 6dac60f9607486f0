import { AppError } from '../common/app-error';
/** Why a callback could not be noted, in the intake's own words; mapped to HTTP in `IntakeErrorFilter`. */
export type IntakeErrorCode = 'INVALID_NOTE'; // the database refused the note's data (SQLSTATE class 22 or 23)

export class IntakeError extends AppError<IntakeErrorCode> {
  constructor(message: string, code: IntakeErrorCode, options?: { cause?: unknown }) {
    super(message, code, options);
  }
}
