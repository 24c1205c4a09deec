// 2^53: from here on a float's decimal digits are not all significant, and OTP writes it in exponent form.
const EXACT_INTEGER_LIMIT = 2 ** 53;

/**
 * A float as OTP 25+ prints it with `~p` (`io_lib_format:fwrite_g/1`): the shortest digits that read back as the
 * same float, in plain or exponent notation, whichever is shorter (plain on a tie; exponent from 2^53 up).
 * Always valid Erlang float syntax: a digit on each side of the point.
 */
export function formatFloat(value: number): string {
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  // toExponential() with no argument gives the shortest round-tripping digits.
  const [mantissa = '', exponentText = '0'] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const place = Number(exponentText) + 1; // digits before the decimal point
  const scientific = `${digits[0]}.${digits.slice(1) || '0'}e${place - 1}`;
  if (Math.abs(value) >= EXACT_INTEGER_LIMIT) return sign + scientific;
  let plain: string;
  if (place <= 0) plain = `0.${'0'.repeat(-place)}${digits}`;
  else if (place < digits.length) plain = `${digits.slice(0, place)}.${digits.slice(place)}`;
  else plain = `${digits}${'0'.repeat(place - digits.length)}.0`;
  return sign + (plain.length <= scientific.length ? plain : scientific);
}
