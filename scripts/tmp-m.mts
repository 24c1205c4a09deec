import { main } from '../src/cli/main.js';
import { createMemoryIo } from '../test/helpers/memory-io.js';
for (const args of JSON.parse(process.argv[2]!) as string[][]) {
  const io = createMemoryIo();
  const code = await main(args, io);
  console.log(JSON.stringify(args), '=>', code, JSON.stringify(io.errors().slice(0, 300)), JSON.stringify(io.output().slice(0,80)));
}
