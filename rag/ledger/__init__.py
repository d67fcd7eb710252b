"""The project ledger (项目台账): project records parsed from indexed rows, filtered and answered."""
