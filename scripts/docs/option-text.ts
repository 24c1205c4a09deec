import { flagsOf, type OptionDoc } from './cli-reference.js';

// How an option is written in the docs, shared by the man page and the README so the two say the same.

// yargs has no name for an option's value; these read better than "string". First match wins.
const VALUE_NAMES: ReadonlyArray<[RegExp, string]> = [
  [/^packet$/, 'MODE'],
  [/(^|-)(timeout|linger|duration|warmup)$/, 'DURATION'],
  [/^(max-frame|size)$/, 'SIZE'],
  [/^(max-connections|max-accepts|count|replies|connections|pipeline|messages|threads|rate)$/, 'N'],
  [/^(out|issuer)$/, 'DIR'],
  [/(^|-)(ca|cert|key|chain|file)$/, 'FILE'],
  [/^host$/, 'HOST'],
  [/^port$/, 'PORT'],
  [/^pin$/, 'FINGERPRINT'],
  [/^(servername|cn|name)$/, 'NAME'],
  [/^min-tls$/, 'VERSION'],
  [/^alpn$/, 'PROTOCOL'],
  [/^handler$/, 'HANDLER'],
  [/^expect$/, 'MESSAGE'],
  [/^days$/, 'DAYS'],
  [/^workers$/, 'N|auto'],
];

// Short lists of choices are clearer spelled out than named.
const MAX_INLINE_CHOICES = 30;

/** The placeholder after the flag: `FILE`, `DURATION`, `text|etf`; empty for a boolean. */
export function valueName(option: OptionDoc): string {
  if (option.type === 'boolean' || option.type === 'count') return '';
  if (option.choices && option.choices.join('|').length <= MAX_INLINE_CHOICES)
    return option.choices.join('|');
  for (const [pattern, name] of VALUE_NAMES) if (pattern.test(option.name)) return name;
  if (option.choices) return 'TYPE';
  return option.type === 'number' ? 'N' : 'VALUE';
}

/** `-p, --port` */
export function flagText(option: OptionDoc): string {
  return flagsOf(option).join(', ');
}

/** The description with what `--help` shows in brackets: default, choices, repeatable. */
export function meaningText(option: OptionDoc): string {
  const parts = [sentence(option.describe)];
  if (option.choices && !valueName(option).includes('|')) parts.push(`One of: ${option.choices.join(', ')}.`);
  if (option.defaultText !== undefined) parts.push(`Default: ${option.defaultText}.`);
  if (option.repeatable && !/repeatable/i.test(option.describe)) parts.push('Repeatable.');
  return parts.join(' ');
}

/** Ends the text with a full stop, so that more sentences can follow; keeps yargs' lower-case start. */
export function sentence(text: string): string {
  const trimmed = text.trim();
  return trimmed === '' || /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/** `send <target> [messages..]` → words with their roles, for a synopsis. */
export function synopsisParts(
  command: string,
): Array<{ text: string; kind: 'literal' | 'required' | 'optional' }> {
  return command.split(' ').map((word) => {
    const required = /^<(.+?)(\.\.)?>$/.exec(word);
    if (required) return { text: required[1]! + (required[2] ? ' ...' : ''), kind: 'required' as const };
    const optional = /^\[(.+?)(\.\.)?\]$/.exec(word);
    if (optional) return { text: optional[1]! + (optional[2] ? ' ...' : ''), kind: 'optional' as const };
    return { text: word, kind: 'literal' as const };
  });
}
