print("placeholder until the edge lands")
