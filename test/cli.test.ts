/**
 * The `pg-sslmode` command line as a new user meets it, run as the built executable: --version,
 * help for the command and for each subcommand, a mistyped subcommand named with a suggestion,
 * Node's raw argument-parser messages replaced by the command's own, and did-you-mean for
 * misspelt keywords in connection strings and URIs.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { VERSION } from '../lib/cli/version.js'
import { CLI_BIN } from './support.js'

const bin = CLI_BIN
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } })
  return { code: r.status, out: r.stdout + r.stderr }
}

t.test('--version prints the package version', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  t.equal(VERSION, pkg.version, 'lib/cli/version.ts says what package.json says')
  for (const flag of ['--version', '-V']) t.same(run(flag), { code: 0, out: `pg-sslmode ${pkg.version}\n` }, flag)
})

t.test('help: the commands, then each command laid out on its own', async (t) => {
  const help = run('--help')
  t.equal(help.code, 0)
  t.match(help.out, /^usage: pg-sslmode <command>/)
  t.match(help.out, /^ {2}check \[CONNECTION-STRING\] +check the SSL material/m, 'one line per command')
  t.match(help.out, /^ {2}mysqlplus ssl on\|off +switch SSL/m, 'mysqlplus is a command of its own, not under probe')
  for (const command of ['check', 'probe']) {
    const own = run(command, '--help')
    t.equal(own.code, 0, `${command} --help`)
    t.match(own.out, new RegExp(`^usage: pg-sslmode ${command} `), `${command} --help: its own usage`)
    t.notMatch(own.out, /mysqlplus/, `${command} --help: nothing of the other commands`)
    t.same(run('help', command), own, `help ${command} is ${command} --help`)
  }
  t.equal(run().code, 2, 'no command: usage, exit 2')
})

t.test('a mistyped command or option is named, with a suggestion', async (t) => {
  const typo = run('chek', 'host=db')
  t.equal(typo.code, 2)
  t.match(typo.out, /^pg-sslmode: unknown command "chek": did you mean "check"\?/)
  t.match(run('probee').out, /unknown command "probee": did you mean "probe"\?/)
  t.match(run('frobnicate').out, /^pg-sslmode: unknown command "frobnicate"\n/, 'no suggestion when nothing is close')
  t.match(run('help', 'chek').out, /did you mean "check"/)
  const option = run('check', '--bogus')
  t.equal(option.code, 2)
  t.match(option.out, /^pg-sslmode: unknown option --bogus\n\nusage: pg-sslmode check /)
  t.notMatch(option.out, /To specify a positional argument/, "not Node's parseArgs text")
  t.match(run('check', '--ini').out, /^pg-sslmode: option --ini needs a value/)
  t.match(run('probe').out, /^pg-sslmode: probe needs a connection string/)
  t.match(run('check', 'host=a', 'host=b').out, /^pg-sslmode: unexpected argument "host=b"/)
})

t.test('did you mean, in connection strings and URIs too', async (t) => {
  for (const target of ['host=db.example sslmod=require', 'postgresql://db.example/app?sslmod=require']) {
    const r = run('check', target, '--json')
    t.match(r.out, /did you mean \\?"sslmode\\?"\?/, target)
  }
})
