/** An error whose message is the whole story: the CLI prints it as one line and exits 2, no stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
