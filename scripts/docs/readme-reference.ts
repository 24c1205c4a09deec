import type { CliReference, CommandDoc, OptionDoc } from './cli-reference.js';
import { flagText, meaningText, sentence, valueName } from './option-text.js';

// The README's "## Reference" section: every command and option, from the same definitions as the man page.
// Only the text between the two markers is generated; the rest of the README is written by hand.

export const REFERENCE_BEGIN =
  '<!-- reference:begin (generated from the command definitions by `npm run man`; edit those, not this) -->';
export const REFERENCE_END = '<!-- reference:end -->';

/** The heading a command's options sit under, as the drift test looks it up. */
export function commandHeading(command: Pick<CommandDoc, 'name'>): string {
  return `### tlsecho ${command.name}`;
}

export const GLOBAL_OPTIONS_HEADING = '### Options of every command';

export function renderReference(reference: CliReference): string {
  const lines: string[] = [];
  for (const command of reference.commands) lines.push(...renderCommand(command));
  lines.push(GLOBAL_OPTIONS_HEADING, '', ...renderTable(reference.globalOptions));
  return lines.join('\n');
}

function renderCommand(command: CommandDoc): string[] {
  const lines = [
    commandHeading(command),
    '',
    `\`tlsecho ${command.command}\`: ${sentence(command.describe)}`,
    '',
  ];
  if (command.positionals.length > 0) {
    lines.push('| Argument | Meaning |', '| --- | --- |');
    for (const positional of command.positionals) {
      lines.push(`| \`${positional.name}\` | ${cell(sentence(positional.describe))} |`);
    }
    lines.push('');
  }
  let group: string | undefined;
  for (const option of command.options) {
    if (option.group !== group) {
      if (group !== undefined) lines.push('');
      group = option.group;
      lines.push(`**${group === 'Options' ? 'Other options' : group}**`, '');
      lines.push('| Option | Meaning |', '| --- | --- |');
    }
    lines.push(renderRow(option));
  }
  if (command.options.length > 0) lines.push('');
  if (command.options.length === 0 && command.positionals.length === 0) {
    lines.push('No options of its own.', '');
  }
  return lines;
}

function renderTable(options: OptionDoc[]): string[] {
  return ['| Option | Meaning |', '| --- | --- |', ...options.map(renderRow), ''];
}

function renderRow(option: OptionDoc): string {
  const value = valueName(option);
  const flags = value === '' ? flagText(option) : `${flagText(option)} ${value}`;
  return `| \`${cell(flags)}\` | ${cell(meaningText(option))} |`;
}

// A `|` would end the table cell; GitHub reads `\|` as the character, even inside code spans.
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** Replaces what lies between the markers; fails when the README lacks them (or has them out of order). */
export function replaceReference(readme: string, body: string): string {
  const begin = readme.indexOf(REFERENCE_BEGIN);
  const end = readme.indexOf(REFERENCE_END);
  if (begin === -1 || end === -1 || end < begin) {
    throw new Error(`README.md lacks the markers ${REFERENCE_BEGIN} ... ${REFERENCE_END}`);
  }
  return `${readme.slice(0, begin + REFERENCE_BEGIN.length)}\n\n${body}\n${readme.slice(end)}`;
}

/** What lies between the markers now. */
export function currentReference(readme: string): string | undefined {
  const begin = readme.indexOf(REFERENCE_BEGIN);
  const end = readme.indexOf(REFERENCE_END);
  return begin === -1 || end < begin ? undefined : readme.slice(begin + REFERENCE_BEGIN.length, end);
}
