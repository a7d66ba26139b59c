/** The CLI's command table: add a command by importing it here. */
import { Command } from "../command";

export const COMMANDS: Command[] = [];
