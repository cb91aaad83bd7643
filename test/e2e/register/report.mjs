// One JSON line on stdout: what the ORM's query saw on the server and the connection's report, or the error.
export async function report(library, run) {
  try {
    const { rows, security } = await run()
    console.log(JSON.stringify({ library, rows, security: security ?? null }))
  } catch (error) {
    const e = error?.original ?? error?.parent ?? error
    console.log(
      JSON.stringify({ library, error: { code: e?.sslCode ?? e?.code ?? null, message: String(e?.message ?? e) } }),
    )
  }
}
