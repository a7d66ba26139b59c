/** One CLI subcommand: `infty <name> [args]`. */
export interface Command {
  name: string;
  summary: string;
  /** full help text shown by `infty <name> --help` */
  usage: string;
  run(argv: string[]): Promise<void>;
}
