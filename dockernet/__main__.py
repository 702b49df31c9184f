from dockernet.cli.root import main

main()
