print("placeholder until the CLI lands")
