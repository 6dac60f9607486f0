import { AppError } from '../common/app-error';
/** Why an admin operation was refused, in the admin module's own words; mapped to HTTP in `AdminErrorFilter`. */
export type AdminErrorCode =
  | 'NOT_FOUND' // no transfer with that id
  | 'CONFLICT'; // the transfer's state does not allow the operation

export class AdminError extends AppError<AdminErrorCode> {
  constructor(message: string, code: AdminErrorCode) {
    super(message, code);
  }
}
