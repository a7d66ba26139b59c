/** The CLI's command table: add a command by importing it here. */
import { Command } from "../command";
import { trainFeatures } from "./train-features";
import { trainCommand } from "./train";
import { trainAeCommand } from "./train-ae";
import { sampleCommand } from "./sample";
import { evalCommand } from "./eval";
import { ablateCommand } from "./ablate";
import { exportCommand } from "./export";
import { gridCommand } from "./grid";
import { inpaintCommand } from "./inpaint";
import { superresCommand } from "./superres";
import { importCommand } from "./import";
import { backendCommand } from "./backend";
import { crossresCommand } from "./crossres";

export const COMMANDS: Command[] = [trainCommand, sampleCommand, evalCommand, exportCommand, gridCommand, trainFeatures, ablateCommand, inpaintCommand, superresCommand, trainAeCommand, importCommand, backendCommand, crossresCommand];
