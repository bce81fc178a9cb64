-- The runs the run log says are running (a killed one is marked abandoned first).
SELECT run_id FROM core.run WHERE status = 'running'
