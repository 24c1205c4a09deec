import { readFile } from 'node:fs/promises';
import { FileError, systemReason } from '../errors.js';

/**
 * The passphrase in `path` (a `--key-passphrase-file`): its first line, as OpenSSL's `-passin file:` reads
 * it, so `echo secret > file` and a file saved with CRLF both work. `shown` names the file in messages. An
 * empty first line is an error of its own: no key is encrypted with an empty passphrase (OpenSSL asks for at
 * least four characters), and "wrong passphrase" would send the user looking for another one.
 */
export async function readPassphraseFile(path: string, shown = path): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new FileError(`cannot read the passphrase file ${shown}: ${systemReason(error)}`, { cause: error });
  }
  const passphrase = text.split(/\r?\n/, 1)[0] ?? '';
  if (passphrase === '') {
    throw new FileError(
      `the passphrase file ${shown} is ${text === '' ? 'empty' : 'blank on its first line'}: the passphrase is its first line`,
      { code: 'ERR_EMPTY_PASSPHRASE' },
    );
  }
  return passphrase;
}
