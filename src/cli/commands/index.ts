/** The CLI's command table: add a command by importing it here. */
import { Command } from "../command";
import { trainFeatures } from "./train-features";

export const COMMANDS: Command[] = [trainFeatures];
