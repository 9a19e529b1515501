"""Check workers over NATS JetStream (issue 18, docs/workers.md).

`wire` (names of streams and subjects, what a job and a result look like on the wire),
`topology` (the streams and consumers, made by the server), `dispatch` (the server's side: jobs
out, results in, figures), `worker` (`augenmass worker`: jobs in, results out).
"""
